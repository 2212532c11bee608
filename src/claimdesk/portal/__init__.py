"""The reseller portal: the web pages where a reseller account's people follow their orders and tickets."""
