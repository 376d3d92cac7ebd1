# nbconvert settings for reading an executed notebook in a terminal (the README's first command):
#
#   SFMC_SANDBOX=1 jupyter nbconvert --to markdown --execute --stdout --config notebooks/terminal.py \
#       notebooks/01_quick_start.ipynb
#
# nbconvert's Markdown export prefers each output's HTML, which a terminal shows as raw tags. Here every output
# shows as Markdown (sfmc_nb's results and tables carry a Markdown report) or as plain aligned text, and HTML
# only when an output has nothing else. JupyterLab is not affected: it keeps showing the HTML panels.
c = get_config()  # noqa: F821 - defined by the Jupyter config loader

c.NbConvertBase.display_data_priority = [
    "text/markdown", "text/plain", "image/svg+xml", "image/png", "image/jpeg", "text/latex", "text/html",
]
c.NbConvertApp.log_level = "WARN"  # no "Converting notebook ..." line
c.ExecutePreprocessor.extra_arguments = [
    "--IPKernelApp.log_level=ERROR",  # no kernel start-up notices between the report's lines
    # DataFrames as text: as wide as a usual terminal, messages whole
    "--InteractiveShellApp.exec_lines=import pandas; pandas.set_option('display.width', 120); "
    "pandas.set_option('display.max_colwidth', 80)",
]
