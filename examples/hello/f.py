# The single-file form: no ol.yaml needed.
def f(event):
    name = (event or {}).get("name", "world") if isinstance(event, dict) else "world"
    return {"greeting": f"hello, {name}"}
