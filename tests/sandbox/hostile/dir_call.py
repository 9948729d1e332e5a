# expect: forbidden
# dir()
def solution():
    return dir(solution)
