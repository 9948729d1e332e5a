# expect: forbidden
# print is a bound method of the print collector
def solution():
    return getattr(print, '__' + 'self__')
