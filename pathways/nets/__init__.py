"""Torch code: the built-in networks, a user's ``nn.Module``, inputs, layer choice, capture
hooks, training, and loading a trained model back from the store."""
