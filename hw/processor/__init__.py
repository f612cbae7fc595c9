"""The processor component's side of the split: the ExCache (controller, miss handler, replacement)."""
