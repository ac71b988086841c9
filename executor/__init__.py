"""The cwlpilot executor: runs stages plans with resource booking, retries, a durable store and pilots."""
