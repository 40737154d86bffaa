"""Teachers' tools: the student edition writer and the grader. Not part of nblib."""
