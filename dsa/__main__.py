from dsa.cli import main

main()
