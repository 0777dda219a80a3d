import { UsageError } from '../errors.js';

/** Who acts: `--identity`, or the local user. */
export async function identity(flag: string | undefined): Promise<string> {
  if (flag !== undefined) {
    if (flag.trim() === '') throw new UsageError('--identity must not be empty');
    return flag;
  }
  const { userInfo } = await import('node:os');
  return userInfo().username;
}
