"""The bundled demo target: a small model server on CPU with documented, deliberate bugs.

Import the submodules you need: `server` (the Starlette app, heavy imports), `process`
(runs the server in a subprocess for `target: {url: builtin:demo}`, light imports), `lm`,
`tabular`. Nothing is imported here, so `import stress.demo.process` stays cheap.
"""
