"""Reports layer: experiment runs, tables and HTML reports built on evaluation results."""
