# expect: memory
# 'a' * 10**10
def solution():
    return 'a' * 10 ** 10
