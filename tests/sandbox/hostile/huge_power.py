# expect: timeout
# a power computed inside one C call
def solution():
    return 10 ** 10 ** 8
