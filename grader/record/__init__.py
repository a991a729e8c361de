"""What is kept of a class's grading: the gradebook, reviews, shards and their merge, results on disk."""


class GradebookError(Exception):
    """A gradebook file that cannot be opened or is not a gradebook."""
