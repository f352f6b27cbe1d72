/**
 * GitLab CI job log sections: a collapsible block per step. Plain text outside GitLab (GITLAB_CI unset), where the
 * escape sequences would only be noise.
 */
const ESC = '\u001b[0K';

function sectionName(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]/g, '_');
}

export function sectionStart(name: string, header: string, env: NodeJS.ProcessEnv, collapsed = false): string {
  if (env.GITLAB_CI !== 'true') return `--- ${header}\n`;
  const t = Math.floor(Date.now() / 1000);
  return `${ESC}section_start:${t}:${sectionName(name)}${collapsed ? '[collapsed=true]' : ''}\r${ESC}${header}\n`;
}

export function sectionEnd(name: string, env: NodeJS.ProcessEnv): string {
  if (env.GITLAB_CI !== 'true') return '';
  return `${ESC}section_end:${Math.floor(Date.now() / 1000)}:${sectionName(name)}\r${ESC}\n`;
}
