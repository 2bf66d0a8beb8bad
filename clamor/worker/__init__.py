"""Workers: the loop that claims jobs and runs their handlers; `handlers.py` wires the job
kinds to the pipeline's stages."""
