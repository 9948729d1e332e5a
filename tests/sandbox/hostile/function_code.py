# expect: forbidden
# code objects rebuild functions
def solution():
    return solution.__code__
