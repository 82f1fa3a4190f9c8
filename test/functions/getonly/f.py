def f(event):
    return "got"
