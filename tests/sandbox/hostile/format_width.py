# expect: memory
# a format width of 10**10
def solution():
    return f'{0:>{10 ** 10}}'
