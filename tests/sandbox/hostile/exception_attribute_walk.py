# expect: forbidden
# an exception's context leads to frames
def solution():
    try:
        {}['x']
    except KeyError as exc:
        return getattr(exc, '__context__')
