"""Network definitions. Each takes the tensor its input encoder produces and returns logits."""
