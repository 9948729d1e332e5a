# expect: error
# an integer too large to return
def solution():
    return 7 ** 100000
