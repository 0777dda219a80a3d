/**
 * What the project's import restrictions say of a snippet linted as if it were `file` (a path from the repository
 * root), so the real eslint.config.js decides. Only the import rule runs, without type information: it needs none,
 * and building the project's type program would cost each test file some twenty seconds.
 */
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';

const RULE = '@typescript-eslint/no-restricted-imports';
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const eslint = new ESLint({
  cwd: repoRoot,
  ruleFilter: ({ ruleId }) => ruleId === RULE,
  overrideConfig: { languageOptions: { parserOptions: { projectService: false } } },
});

export async function restrictedImportMessages(code: string, file: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: fileURLToPath(new URL(`../../${file}`, import.meta.url)) });
  const fatal = result?.messages.find((message) => message.fatal === true);
  if (fatal !== undefined) throw new Error(`${file}: ${fatal.message}`);
  return (result?.messages ?? []).filter((message) => message.ruleId === RULE).map((message) => message.message);
}
