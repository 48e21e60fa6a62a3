// True only when A and B are the same type: a shape the docs spell out can
// neither lack a field the package's type has nor add one it does not.
export type SameType<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
