# expect: forbidden
# class patterns read attributes without the guard
def solution():
    match 1:
        case object(real=value):
            return value
