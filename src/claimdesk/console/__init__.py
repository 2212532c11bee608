"""The staff console: the web pages where support staff work tickets."""
