# expect: error
# a live object as the value
def solution():
    return solution
