/** A part of the local stack that did not start: the message names the part and the reason. */
export class StackError extends Error {
  override readonly name = 'StackError';
}
