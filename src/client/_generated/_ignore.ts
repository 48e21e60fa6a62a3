// This is only here so convex-test can detect a _generated folder.
export {};
