# expect: timeout
# a loop inside one C call
def solution():
    return sum(range(10 ** 13))
