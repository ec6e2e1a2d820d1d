from dsa.launch import main

main()
