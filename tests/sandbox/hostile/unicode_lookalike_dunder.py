# expect: forbidden
# '_﹍class﹍﹍' (dashed low lines) normalises to __class__
def solution():
    return ()._﹍class﹍﹍
