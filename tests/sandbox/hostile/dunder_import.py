# expect: forbidden
# __import__ by name
def solution():
    return __import__('os')
