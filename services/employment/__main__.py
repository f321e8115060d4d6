from services.employment.bootstrap import main

main()
