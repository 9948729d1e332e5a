# expect: forbidden
# vars()
def solution():
    return vars(solution)
