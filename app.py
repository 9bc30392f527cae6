"""Development entry point: `flask --app app run` or `python app.py` (what `make run` runs)."""
from zaloan import create_app
from zaloan.config import dev_address

app = create_app()

if __name__ == "__main__":
    host, port = dev_address()
    app.run(host=host, port=port)
