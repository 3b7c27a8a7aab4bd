from nrr.cli import main

main()
