# expect: error
# recursion without end
def solution():
    return solution()
