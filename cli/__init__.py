"""cwlpilot: compile CWL workflows into stages plans and run them with a pilot executor."""

__version__ = "0.1.0"
