"""Reading submissions: files, notebooks, answer files and write-ups, into what the sandbox runs and the judge reads."""

CODE_SUFFIXES = (".py", ".ipynb")  # files whose code runs in the sandbox
