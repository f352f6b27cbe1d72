//! The verifier table: one row per provider, naming the rule ids it verifies and the vendor's documented
//! read-only "who am I" request (host, method, path, where the token goes) and how its answer maps to
//! active/inactive. Rules: only GET, or POST of a fixed GraphQL *query* (no mutation); the host is always the
//! vendor's own and fixed in this table (Mailchimp's data-centre label `usN` is the one part taken from the token, and
//! only when it matches `us[0-9]{1,2}`); plugins/secrets/README.md lists every row with the vendor's doc URL.

/// Where the secret goes in the request.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Auth {
    /// `Authorization: Bearer TOKEN`
    Bearer,
    /// A header: (name, value prefix), e.g. ("Authorization", "token ") or ("x-api-key", "").
    Header(&'static str, &'static str),
    /// `Authorization: Basic base64(USER:TOKEN)` with a fixed user name.
    Basic(&'static str),
    /// The token is a path segment: `{token}` in the path.
    Path,
    /// A Discord webhook URL: its id and token become the path on the fixed host.
    Webhook,
    /// AWS SigV4 with the key id and the secret key found in the same file.
    SigV4,
}

pub struct Verifier {
    pub provider: &'static str,
    pub rules: &'static [&'static str],
    /// The vendor host; `{dc}` (Mailchimp only) is the token's data-centre label.
    pub host: &'static str,
    pub method: &'static str,
    pub path: &'static str,
    pub auth: Auth,
    /// Fixed extra headers (API version pins, Accept).
    pub headers: &'static [(&'static str, &'static str)],
    /// A fixed request body (GraphQL queries only); "" for none.
    pub body: &'static str,
    /// Token prefix this verifier needs ("" any): e.g. LaunchDarkly REST calls take only `api-` tokens.
    pub prefix: &'static str,
    pub active: &'static [u16],
    pub inactive: &'static [u16],
    /// Text a 2xx answer must contain to count as active (Slack and Telegram answer 200 with `"ok":false`).
    pub active_body: &'static str,
    pub doc: &'static str,
}

const JSON: &[(&str, &str)] = &[("Accept", "application/json")];
const GQL: &[(&str, &str)] = &[("Content-Type", "application/json"), ("Accept", "application/json")];

macro_rules! v {
    ($provider:expr, $rules:expr, $host:expr, $method:expr, $path:expr, $auth:expr, $active:expr, $inactive:expr, $doc:expr) => {
        v!($provider, $rules, $host, $method, $path, $auth, JSON, "", "", $active, $inactive, "", $doc)
    };
    ($provider:expr, $rules:expr, $host:expr, $method:expr, $path:expr, $auth:expr, $headers:expr, $body:expr, $prefix:expr, $active:expr, $inactive:expr, $active_body:expr, $doc:expr) => {
        Verifier {
            provider: $provider,
            rules: $rules,
            host: $host,
            method: $method,
            path: $path,
            auth: $auth,
            headers: $headers,
            body: $body,
            prefix: $prefix,
            active: $active,
            inactive: $inactive,
            active_body: $active_body,
            doc: $doc,
        }
    };
}

use Auth::*;

pub static VERIFIERS: &[Verifier] = &[
    v!("GitHub", &["github-pat", "github-oauth-token", "github-user-to-server-token", "github-fine-grained-pat"],
        "api.github.com", "GET", "/user", Bearer,
        &[("Accept", "application/vnd.github+json"), ("X-GitHub-Api-Version", "2022-11-28")], "", "", &[200], &[401], "",
        "https://docs.github.com/en/rest/users/users#get-the-authenticated-user"),
    v!("GitLab", &["gitlab-pat"], "gitlab.com", "GET", "/api/v4/personal_access_tokens/self",
        Header("PRIVATE-TOKEN", ""), &[200], &[401],
        "https://docs.gitlab.com/api/personal_access_tokens/#get-details-on-a-personal-access-token"),
    v!("Slack", &["slack-bot-token", "slack-user-token"], "slack.com", "GET", "/api/auth.test", Bearer, JSON, "", "",
        &[200], &[401], "\"ok\":true", "https://api.slack.com/methods/auth.test"),
    // 403: a restricted key without the balance permission did authenticate.
    v!("Stripe", &["stripe-secret-key", "stripe-restricted-key", "stripe-test-secret-key"], "api.stripe.com", "GET",
        "/v1/balance", Bearer, &[200, 403], &[401], "https://docs.stripe.com/api/balance/balance_retrieve"),
    v!("OpenAI", &["openai-api-key", "openai-project-key"], "api.openai.com", "GET", "/v1/models", Bearer, &[200],
        &[401], "https://platform.openai.com/docs/api-reference/models/list"),
    v!("Anthropic", &["anthropic-api-key"], "api.anthropic.com", "GET", "/v1/models", Header("x-api-key", ""),
        &[("anthropic-version", "2023-06-01"), ("Accept", "application/json")], "", "", &[200], &[401], "",
        "https://docs.anthropic.com/en/api/models-list"),
    v!("Hugging Face", &["huggingface-token", "huggingface-org-token"], "huggingface.co", "GET", "/api/whoami-v2",
        Bearer, &[200], &[401], "https://huggingface.co/docs/huggingface_hub/package_reference/hf_api#huggingface_hub.HfApi.whoami"),
    v!("SendGrid", &["sendgrid-api-key"], "api.sendgrid.com", "GET", "/v3/scopes", Bearer, &[200], &[401, 403],
        "https://www.twilio.com/docs/sendgrid/api-reference/api-key-permissions/retrieve-a-list-of-scopes-for-which-this-user-has-access"),
    v!("Mailgun", &["mailgun-private-api-key"], "api.mailgun.net", "GET", "/v3/domains", Basic("api"), &[200],
        &[401, 403], "https://documentation.mailgun.com/docs/mailgun/api-reference/openapi-final/tag/Domains/"),
    v!("npm", &["npm-access-token"], "registry.npmjs.org", "GET", "/-/whoami", Bearer, &[200], &[401, 403],
        "https://docs.npmjs.com/cli/commands/npm-whoami"),
    v!("DigitalOcean", &["digitalocean-pat", "digitalocean-oauth-token"], "api.digitalocean.com", "GET",
        "/v2/account", Bearer, &[200], &[401], "https://docs.digitalocean.com/reference/api/digitalocean/#tag/Account/operation/account_get"),
    v!("Heroku", &["heroku-api-key", "heroku-api-key-v2"], "api.heroku.com", "GET", "/account", Bearer,
        &[("Accept", "application/vnd.heroku+json; version=3")], "", "", &[200], &[401, 403], "",
        "https://devcenter.heroku.com/articles/platform-api-reference#account-info"),
    v!("Datadog", &["datadog-api-key"], "api.datadoghq.com", "GET", "/api/v1/validate", Header("DD-API-KEY", ""),
        &[200], &[401, 403], "https://docs.datadoghq.com/api/latest/authentication/#validate-api-key"),
    v!("New Relic", &["newrelic-user-api-key"], "api.newrelic.com", "GET", "/v2/applications.json",
        Header("X-Api-Key", ""), &[200], &[401, 403],
        "https://docs.newrelic.com/docs/apis/rest-api-v2/get-started/introduction-new-relic-rest-api-v2/"),
    v!("Sentry", &["sentry-user-token", "sentry-org-token", "sentry-auth-token-legacy"], "sentry.io", "GET", "/api/0/",
        Bearer, &[200], &[401], "https://docs.sentry.io/api/auth/"),
    v!("Discord (bot)", &["discord-bot-token"], "discord.com", "GET", "/api/v10/users/@me", Header("Authorization", "Bot "),
        &[200], &[401], "https://discord.com/developers/docs/resources/user#get-current-user"),
    v!("Discord (webhook)", &["discord-webhook-url"], "discord.com", "GET", "/api/webhooks/{token}", Webhook,
        &[200], &[401, 404], "https://discord.com/developers/docs/resources/webhook#get-webhook-with-token"),
    v!("Telegram", &["telegram-bot-token"], "api.telegram.org", "GET", "/bot{token}/getMe", Path, JSON, "", "",
        &[200], &[401, 404], "\"ok\":true", "https://core.telegram.org/bots/api#getme"),
    v!("Linear", &["linear-api-key"], "api.linear.app", "POST", "/graphql", Header("Authorization", ""), GQL,
        "{\"query\":\"{ viewer { id } }\"}", "", &[200], &[400, 401], "\"viewer\":{",
        "https://linear.app/developers/graphql#authentication"),
    v!("Notion", &["notion-integration-token"], "api.notion.com", "GET", "/v1/users/me", Bearer,
        &[("Notion-Version", "2022-06-28"), ("Accept", "application/json")], "", "", &[200], &[401], "",
        "https://developers.notion.com/reference/get-self"),
    v!("Postman", &["postman-api-key"], "api.getpostman.com", "GET", "/me", Header("X-Api-Key", ""), &[200], &[401],
        "https://learning.postman.com/docs/developer/postman-api/authentication/"),
    v!("Cloudflare", &["cloudflare-api-token"], "api.cloudflare.com", "GET", "/client/v4/user/tokens/verify", Bearer,
        JSON, "", "", &[200], &[400, 401, 403], "\"success\":true",
        "https://developers.cloudflare.com/api/resources/user/subresources/tokens/methods/verify/"),
    v!("Netlify", &["netlify-access-token"], "api.netlify.com", "GET", "/api/v1/user", Bearer, &[200], &[401],
        "https://open-api.netlify.com/#tag/user/operation/getCurrentUser"),
    v!("Vercel", &["vercel-token"], "api.vercel.com", "GET", "/v2/user", Bearer, &[200], &[401, 403],
        "https://vercel.com/docs/rest-api/reference/endpoints/user/get-the-user"),
    v!("Mailchimp", &["mailchimp-api-key"], "{dc}.api.mailchimp.com", "GET", "/3.0/ping", Basic("anystring"), &[200],
        &[401], "https://mailchimp.com/developer/marketing/api/ping/"),
    v!("AWS", &["aws-access-key-id", "aws-secret-access-key"], "sts.amazonaws.com", "GET",
        "/?Action=GetCallerIdentity&Version=2011-06-15", SigV4, &[200], &[403],
        "https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html"),
    v!("Groq", &["groq-api-key"], "api.groq.com", "GET", "/openai/v1/models", Bearer, &[200], &[401],
        "https://console.groq.com/docs/api-reference#models-list"),
    v!("Mistral AI", &["mistral-api-key"], "api.mistral.ai", "GET", "/v1/models", Bearer, &[200], &[401],
        "https://docs.mistral.ai/api/#tag/models/operation/list_models_v1_models_get"),
    v!("Replicate", &["replicate-api-token"], "api.replicate.com", "GET", "/v1/account", Bearer, &[200], &[401],
        "https://replicate.com/docs/reference/http#account.get"),
    v!("OpenRouter", &["openrouter-api-key"], "openrouter.ai", "GET", "/api/v1/key", Bearer, &[200], &[401],
        "https://openrouter.ai/docs/api-reference/api-keys/get-current-key"),
    v!("xAI", &["xai-api-key"], "api.x.ai", "GET", "/v1/api-key", Bearer, &[200], &[400, 401, 403],
        "https://docs.x.ai/docs/api-reference#get-api-key-info"),
    v!("DeepSeek", &["deepseek-api-key"], "api.deepseek.com", "GET", "/user/balance", Bearer, &[200], &[401],
        "https://api-docs.deepseek.com/api/get-user-balance"),
    v!("ElevenLabs", &["elevenlabs-api-key"], "api.elevenlabs.io", "GET", "/v1/user", Header("xi-api-key", ""),
        &[200], &[401], "https://elevenlabs.io/docs/api-reference/user/get"),
    v!("Postmark", &["postmark-server-token"], "api.postmarkapp.com", "GET", "/server",
        Header("X-Postmark-Server-Token", ""), &[200], &[401], "https://postmarkapp.com/developer/api/server-api#get-server"),
    v!("Brevo", &["brevo-api-key"], "api.brevo.com", "GET", "/v3/account", Header("api-key", ""), &[200], &[401],
        "https://developers.brevo.com/reference/getaccount"),
    v!("CircleCI", &["circleci-personal-token"], "circleci.com", "GET", "/api/v2/me", Header("Circle-Token", ""),
        &[200], &[401], "https://circleci.com/docs/api/v2/index.html#operation/getCurrentUser"),
    v!("Buildkite", &["buildkite-api-token"], "api.buildkite.com", "GET", "/v2/access-token", Bearer, &[200], &[401],
        "https://buildkite.com/docs/apis/rest-api/access-token#get-the-current-token"),
    v!("Snyk", &["snyk-api-token"], "api.snyk.io", "GET", "/v1/user/me", Header("Authorization", "token "), &[200],
        &[401], "https://docs.snyk.io/snyk-api/reference/users-v1#get-user-me"),
    v!("HCP Terraform", &["terraform-cloud-token"], "app.terraform.io", "GET", "/api/v2/account/details", Bearer,
        &[200], &[401], "https://developer.hashicorp.com/terraform/cloud-docs/api-docs/account#get-your-account-details"),
    v!("Pulumi", &["pulumi-access-token"], "api.pulumi.com", "GET", "/api/user", Header("Authorization", "token "),
        &[200], &[401], "https://www.pulumi.com/docs/pulumi-cloud/reference/cloud-rest-api/#get-current-user"),
    v!("Doppler", &["doppler-personal-token", "doppler-service-token"], "api.doppler.com", "GET", "/v3/me", Bearer,
        &[200], &[401], "https://docs.doppler.com/reference/auth-me"),
    v!("Asana", &["asana-pat"], "app.asana.com", "GET", "/api/1.0/users/me", Bearer, &[200], &[401],
        "https://developers.asana.com/reference/getuser"),
    v!("Airtable", &["airtable-pat"], "api.airtable.com", "GET", "/v0/meta/whoami", Bearer, &[200], &[401],
        "https://airtable.com/developers/web/api/get-user-id-scopes"),
    v!("Figma", &["figma-pat"], "api.figma.com", "GET", "/v1/me", Header("X-Figma-Token", ""), &[200], &[401, 403],
        "https://www.figma.com/developers/api#get-me-endpoint"),
    v!("Linode", &["linode-token"], "api.linode.com", "GET", "/v4/profile", Bearer, &[200], &[401],
        "https://techdocs.akamai.com/linode-api/reference/get-profile"),
    v!("Vultr", &["vultr-api-key"], "api.vultr.com", "GET", "/v2/account", Bearer, &[200], &[401],
        "https://www.vultr.com/api/#tag/account/operation/get-account"),
    v!("Contentful", &["contentful-pat"], "api.contentful.com", "GET", "/users/me", Bearer, &[200], &[401],
        "https://www.contentful.com/developers/docs/references/content-management-api/#/reference/users/user/get-the-authenticated-user"),
    v!("LaunchDarkly", &["launchdarkly-key"], "app.launchdarkly.com", "GET", "/api/v2/caller-identity",
        Header("Authorization", ""), JSON, "", "api-", &[200], &[401], "",
        "https://launchdarkly.com/docs/api/other/get-caller-identity"),
    v!("Honeycomb", &["honeycomb-api-key"], "api.honeycomb.io", "GET", "/1/auth", Header("X-Honeycomb-Team", ""),
        &[200], &[401], "https://api-docs.honeycomb.io/api/auth"),
    v!("Render", &["render-api-key"], "api.render.com", "GET", "/v1/owners", Bearer, &[200], &[401],
        "https://api-docs.render.com/reference/list-owners"),
];

/// Rules of providers named in the issue that cannot be verified from a finding alone, and why (README).
pub static NO_VERIFIER: &[(&str, &str)] = &[
    ("shopify-access-token", "needs the shop's myshopify.com domain"),
    ("shopify-custom-app-token", "needs the shop's myshopify.com domain"),
    ("shopify-private-app-token", "needs the shop's myshopify.com domain"),
    ("atlassian-api-token", "needs the account e-mail and the site"),
    ("atlassian-api-token-legacy", "needs the account e-mail and the site"),
    ("twilio-api-key", "needs the account SID and key secret"),
    ("twilio-auth-token", "needs the account SID"),
    ("dockerhub-pat", "needs the Docker ID (user name)"),
    ("dockerhub-oat", "needs the organization name"),
    ("cloudflare-global-api-key", "needs the account e-mail"),
];

pub fn find(rule_id: &str) -> Option<&'static Verifier> {
    VERIFIERS.iter().find(|v| v.rules.contains(&rule_id))
}

/// The hosts verification may reach, as grant patterns (Mailchimp's `{dc}` becomes `*`), sorted and distinct.
pub fn hosts() -> Vec<String> {
    let mut out: Vec<String> = VERIFIERS.iter().map(|v| v.host.replace("{dc}", "*")).collect();
    out.sort();
    out.dedup();
    out
}
