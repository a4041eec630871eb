"""The interactive loop without any GUI: clicks, predictor, session."""
