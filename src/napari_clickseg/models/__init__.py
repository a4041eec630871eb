"""torch nn.Modules of the three architectures, their configs and checkpoint formats."""
