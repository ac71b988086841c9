"""cwlpilot's compiler: CWL documents in, a flat stages plan (schemas/stages.schema.json) out."""
