"""Reading submissions: files, notebooks, answer files and write-ups, into what the sandbox runs and the judge reads."""

CODE_SUFFIXES = (".py", ".ipynb")  # files whose code runs in the sandbox
MAX_FILE_BYTES = 8 * 1024 * 1024  # read as code, answers or write-up
