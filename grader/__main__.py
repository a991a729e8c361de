from grader.launch import run

run()
