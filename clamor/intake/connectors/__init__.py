"""Channel connectors: each turns what a channel delivers (a form post, a CSV/XLSX file, an
e-mail) into `ComplaintIn` values, or says precisely what is wrong with it. They store nothing;
`clamor.workflow.complaints.service.submit` does."""
