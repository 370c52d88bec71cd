// tlswrapper-smtp: not written yet (issue 5); refuses to run so nobody mistakes it for working.
process.stderr.write('tlswrapper-smtp: fatal: not implemented yet\n');
process.exit(100);
