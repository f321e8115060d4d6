"""School (skola / huvudman): refers, reports concern and reports dropout to KAA."""
