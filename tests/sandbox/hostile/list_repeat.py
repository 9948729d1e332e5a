# expect: memory
# [0] * 10**10
def solution():
    return [0] * 10 ** 10
