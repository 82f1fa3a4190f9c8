def f(event):
    return 1
